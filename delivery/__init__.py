"""The delivery engine: rendering sandbox, routing matrix, throttling and warm-up, SMTP client
pool, retries and fallback, bounce classification, outcome recording and workers.
"""
