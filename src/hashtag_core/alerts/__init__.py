"""Scheduled reports and alerts: schedules and subscriptions (service), alert detection
(detect; verdict flips come from the full recompute), the delivery log and sending (delivery,
mail, signing) and the report email (report)."""
