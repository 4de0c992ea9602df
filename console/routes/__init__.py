"""The console's routers, one module per area; ``ROUTERS`` is what the app includes."""

from console.routes import auth, handoff, home, nlg, staff, texts, texts_api

ROUTERS = [auth.router, home.router, staff.router, handoff.router, texts.router, texts_api.router,
           nlg.router]
