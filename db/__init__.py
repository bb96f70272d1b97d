"""errlog's storage layer: schema, migrations, sessions and the queries several parts share."""
