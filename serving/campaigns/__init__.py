"""Templates and campaigns: the template store and preview, the segment filter language,
holdout and send-time planning, and the campaign send that queues messages in each
recipient's region cell."""
