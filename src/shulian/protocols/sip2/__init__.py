"""SIP2 (3M Standard Interchange Protocol 2.00) for self-check kiosks (自助借还机).

``codec`` parses and formats messages (fixed and variable fields, sequence numbers, checksums),
``handlers`` answers each message through the platform's services, and ``server`` is the
asyncio TCP/TLS server that frames lines and guards against hostile clients. Run it with
``shulian sip2 serve``.
"""
