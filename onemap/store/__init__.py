"""The transactional store of what users write (DESIGN §1): pushed projects, filing
applications, decisions, users and the audit log — SQLite beside the map by default,
PostgreSQL + PostGIS for deployments (``ONEMAP_STORE``).

Empty for now: the store of the filing-desk issue (15) lands here. The map's GeoPackage stays
read-mostly; nothing here rewrites it.
"""
