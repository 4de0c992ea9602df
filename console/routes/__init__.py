"""The console's routers, one module per area; ``ROUTERS`` is what the app includes."""

from console.routes import auth, handoff, home, model_server, nlg, staff, texts, texts_api, training

ROUTERS = [auth.router, home.router, staff.router, handoff.router, texts.router, texts_api.router,
           nlg.router, training.router, model_server.router]
