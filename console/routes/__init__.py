"""The console's routers, one module per area; ``ROUTERS`` is what the app includes."""

from console.routes import analytics, auth, conversations, home, staff

ROUTERS = [auth.router, home.router, staff.router, analytics.router, conversations.router]
