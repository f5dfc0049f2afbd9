"""Built-in insurer plugins, one package each, registered through ``portal.plugins`` entry points."""
