"""The console's routers, one module per area; ``ROUTERS`` is what the app includes."""

from console.routes import (
    analytics,
    auth,
    catalogue,
    catalogue_api,
    conversations,
    handoff,
    home,
    model_server,
    nlg,
    staff,
    texts,
    texts_api,
    training,
    training_data,
    training_pages,
)

ROUTERS = [auth.router, home.router, staff.router, catalogue.router, catalogue_api.router, handoff.router,
           texts.router, texts_api.router, nlg.router, training.router, model_server.router, training_data.router,
           training_pages.router, analytics.router, conversations.router]
