"""layerwalk's web layer: FastAPI routes, schemas and pages. Reaches the models only through the registry."""
