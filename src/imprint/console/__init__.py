"""The web console: static assets shipped in the package (no CDN, no build step) that call the same
signed API as every client, signing in the browser with WebCrypto. `routes.py` mounts them."""
