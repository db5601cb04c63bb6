"""One small router per resource: health, the JSON API, and the HTML pages."""
