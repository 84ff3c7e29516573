"""Helpdesk destinations: the port tickets are delivered through, and one adapter per helpdesk."""
