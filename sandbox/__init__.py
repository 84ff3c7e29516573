"""A stateful local Gmail: the Gmail v1 REST API and Google's OAuth endpoints on 127.0.0.1."""
