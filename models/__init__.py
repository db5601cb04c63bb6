"""layerwalk's models: pure PyTorch, no web imports. Start with `from models import registry`."""
