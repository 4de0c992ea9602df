"""The console's routers, one module per area; ``ROUTERS`` is what the app includes."""

from console.routes import auth, catalogue, catalogue_api, home, staff

ROUTERS = [auth.router, home.router, staff.router, catalogue.router, catalogue_api.router]
