"""The admin HTTP surface: health, status, dashboard, actions and metrics, served next to the scheduler."""
