"""Adapters for peers that speak library standards rather than our API: the SIP2 server for
self-check kiosks (``shulian.protocols.sip2``). Protocols sit in the presentation layer: they
own no tables and reach the platform only through services."""
