"""The SMTP receiver: mail Gmail forwards to the support addresses enters the helpdesk here."""
