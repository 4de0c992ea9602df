"""The console's routers, one module per area; ``ROUTERS`` is what the app includes."""

from console.routes import auth, handoff, home, staff

ROUTERS = [auth.router, home.router, staff.router, handoff.router]
