"""The console's routers, one module per area; ``ROUTERS`` is what the app includes."""

from console.routes import auth, home, model_server, staff, training

ROUTERS = [auth.router, home.router, staff.router, training.router, model_server.router]
