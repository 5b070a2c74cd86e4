"""The HTTP edge: app factory, routers, one error renderer. No SQL, no key handling, no spec rules here."""
