"""HTTP routes, one module per area; `service.main.create_app` includes them."""
