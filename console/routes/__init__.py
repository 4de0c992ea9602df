"""The console's routers, one module per area; ``ROUTERS`` is what the app includes."""

from console.routes import auth, home, staff, training_data, training_pages

ROUTERS = [auth.router, home.router, staff.router, training_data.router, training_pages.router]
