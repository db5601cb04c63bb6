"""Per-family presenters: turn a loaded model and its capture cache into the API's schemas."""
