"""One patient per object: findings bound to their study's patient, review threads in the timeline.

- ``findings``: composite foreign key ``(study_id, patient_id) -> studies (id, patient_id)``, so a
  finding can never name one patient and another patient's study (target: a unique index).
- ``review_threads`` (bound to one patient), ``review_events`` and ``review_thread_images``: the
  app's reviews, formerly JSON files named after a request string.
- Triggers refuse a finding image or a review-thread image of another patient.

SQLite rebuilds ``findings`` to add the foreign key; foreign keys are switched off for the rebuild,
else dropping the old table would cascade into ``finding_images``.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: (link table, owner column, owner table): the image's patient must equal the owner's patient.
_LINKS = [("finding_images", "finding_id", "findings"), ("review_thread_images", "thread_id", "review_threads")]
_IMAGE_PATIENT = ("SELECT st.patient_id FROM images i JOIN series se ON se.id = i.series_id "
                  "JOIN studies st ON st.id = se.study_id WHERE i.id = NEW.image_id")


def _sqlite_trigger(table: str, owner_col: str, owner: str) -> list[str]:
    check = (f"({_IMAGE_PATIENT}) IS NOT (SELECT patient_id FROM {owner} WHERE id = NEW.{owner_col})")
    return [
        f"CREATE TRIGGER {table}_same_patient_{when} BEFORE {when.upper()} ON {table} FOR EACH ROW "
        f"WHEN {check} BEGIN SELECT RAISE(ABORT, '{table}: image of another patient'); END"
        for when in ("insert", "update")
    ]


def _postgres_trigger(table: str, owner_col: str, owner: str) -> list[str]:
    return [
        f"""CREATE FUNCTION {table}_same_patient() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF ({_IMAGE_PATIENT}) IS DISTINCT FROM (SELECT patient_id FROM {owner} WHERE id = NEW.{owner_col}) THEN
            RAISE EXCEPTION '{table}: image of another patient' USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          RETURN NEW;
        END $$""",
        f"CREATE TRIGGER {table}_same_patient BEFORE INSERT OR UPDATE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_same_patient()",
    ]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("PRAGMA foreign_keys=OFF")
    op.create_index("uq_studies_id_patient", "studies", ["id", "patient_id"], unique=True)
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_foreign_key("fk_findings_study_patient", "studies", ["study_id", "patient_id"],
                                    ["id", "patient_id"], ondelete="CASCADE", onupdate="CASCADE")
    op.create_table(
        "review_threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_key", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("case", sa.JSON(), nullable=False),
        sa.Column("started", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("thread_key"),
    )
    op.create_index(op.f("ix_review_threads_patient_id"), "review_threads", ["patient_id"], unique=False)
    op.create_table(
        "review_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["thread_id"], ["review_threads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_review_events_thread_id"), "review_events", ["thread_id"], unique=False)
    op.create_table(
        "review_thread_images",
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["image_id"], ["images.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["thread_id"], ["review_threads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("thread_id", "image_id"),
    )
    for link in _LINKS:
        for statement in (_sqlite_trigger if sqlite else _postgres_trigger)(*link):
            op.execute(statement)
    if sqlite:
        op.execute("PRAGMA foreign_keys=ON")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, _, _ in _LINKS:
        if sqlite:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_same_patient_insert")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_same_patient_update")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_same_patient ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_same_patient()")
    op.drop_table("review_thread_images")
    op.drop_index(op.f("ix_review_events_thread_id"), table_name="review_events")
    op.drop_table("review_events")
    op.drop_index(op.f("ix_review_threads_patient_id"), table_name="review_threads")
    op.drop_table("review_threads")
    if sqlite:
        op.execute("PRAGMA foreign_keys=OFF")
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_constraint("fk_findings_study_patient", type_="foreignkey")
    op.drop_index("uq_studies_id_patient", table_name="studies")
    if sqlite:
        op.execute("PRAGMA foreign_keys=ON")
