"""SQL storage of RegimeForge: SQLAlchemy 2.0 rows, repositories, a unit of work, migrations.

Entry points: ``engine.make_engine(url)``, ``uow.SqlAlchemyUnitOfWork(engine)`` and the
programmatic alembic wrappers in ``migrate``. SQLite (WAL) is the embedded default, PostgreSQL
the shared store; both run the same tests. See docs/storage.md.
"""
