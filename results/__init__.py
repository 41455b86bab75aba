"""mimir's results as DICOM objects a PACS and its viewers read: SEG for masks, TID 1500 SR for answers.

Imports point one way: this package reads the timeline (memory), tool results (tools) and answers
(core domain); the review app and the CLI call it.
"""
