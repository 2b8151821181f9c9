"""Ingestion behind the messages, contacts and suppressions routes: validation
(:mod:`.validation`), contact resolution (:mod:`.contacts`), message intake
(:mod:`.messages`), streamed imports (:mod:`.importing`, :mod:`.import_writer`,
:mod:`.upload`) and the suppression list (:mod:`.suppressions`)."""
