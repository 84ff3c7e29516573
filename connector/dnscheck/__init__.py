"""DNS checks for sending as an external domain: SPF, DKIM and DMARC, each with its fix."""
