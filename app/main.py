"""create_app(): wiring only. Serve with `uvicorn app.main:create_app --factory`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import torch
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import classroom, errors, presenters, training
from app.config import Settings
from app.middleware import BodySizeLimit, Capacity, RootPath, SecurityHeaders
from app.passes import PassCache
from app.routes import api, classes, docs, health, pages, share, train
from app.static import Static
from models.registry import Registry

STATIC_DIR = Path(__file__).parents[1] / "static"


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """While the app serves: training processes wait for a live run, the classroom listens for its store's events."""
    async with training.lifespan(app), classroom.lifespan(app):
        yield


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    torch.set_num_threads(1)  # tiny models: threads only add contention between workers
    app = FastAPI(
        title="layerwalk",
        summary="Walk a neural network's forward pass, layer by layer, with the real numbers.",
        version="1",
        docs_url=None,  # served by routes/docs.py from our own static files
        redoc_url=None,  # ReDoc has no offline build here; Swagger UI covers the same schema
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.registry = Registry(settings.weights_dir, settings.model_dirs)  # user folders are read now
    app.state.registry.load_all()  # load at start, so the first request is not the slow one
    app.state.passes = PassCache(settings.cache_bytes)
    app.state.trainer = training.Trainer(settings.train_runs, settings.train_time_s, settings.train_warm)
    app.state.classroom = classroom.Classroom(settings)
    errors.install(app)
    classes.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type"])  # fmt: skip
    app.add_middleware(Capacity, max_active=settings.max_active_requests)  # outside the body read: counts it
    app.add_middleware(SecurityHeaders)
    if settings.root_path:
        app.add_middleware(RootPath, root_path=settings.root_path)
    app.include_router(health.router)
    presenters.discover()  # every registered family's, before the routes document their answers
    app.include_router(api.router())
    app.include_router(share.router)
    app.include_router(train.router)
    app.include_router(classes.router)
    app.include_router(pages.router)
    app.include_router(docs.router)
    app.mount("/static", Static(STATIC_DIR), name="static")
    return app
