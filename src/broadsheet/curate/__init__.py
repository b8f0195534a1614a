"""Curation: resources added from their URLs, collected from partners' feeds, and every link of an issue checked.

`fetch` is the one HTTP client, `metadata` reads pages and PDFs, `urls` cleans
what gets published, `edit` writes into the issue file leaving every other
byte as it was; `add`, `collect` and `links` are the editor's three jobs.
"""
