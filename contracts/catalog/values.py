"""Value sets of the catalog that several services and the gateway share."""
ENTRY_KINDS = ("project", "idea", "initiative", "event")
ENTRY_STATUSES = ("submitted", "published", "rejected", "archived", "withdrawn")
REVIEW_ACTIONS = ("publish", "reject", "archive", "withdraw")
LINK_TYPES = ("related", "part_of", "follows_up", "inspired_by", "partner", "funded_by", "run_by", "member_of")
LINK_TARGET_TYPES = ("entry", "organisation")
ORGANISATION_KINDS = ("association", "initiative", "municipality", "public_body", "company",
                      "social_enterprise", "cooperative", "foundation", "research", "other")
ARTICLE_TYPES = ("article", "news")
ENTRY_SORTS = ("newest", "oldest", "updated", "title")  # oldest: a review queue, first come first
