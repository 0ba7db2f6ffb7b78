"""Use cases shared by the GraphQL API and the scheduled jobs."""
