"""Reports rendered from the marts: figures, templates and atomic publishing. Never imports assets."""
