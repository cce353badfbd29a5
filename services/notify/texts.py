"""The words of the mails, German first (the default), English for those who chose it."""

TEXTS = {
    "de": {
        "greeting": "Guten Tag,",
        "confirm_subject": "Bitte bestätigen Sie Ihr Abonnement",
        "confirm_intro": "jemand, vermutlich Sie, hat mit dieser Adresse Neuigkeiten des Kompetenzzentrums "
                         "Soziale Innovation Sachsen-Anhalt abonniert. Bitte bestätigen Sie das mit diesem Link:",
        "confirm_ignore": "Wenn Sie das nicht waren, ignorieren Sie diese Nachricht; Sie erhalten dann nichts weiter.",
        "confirm_button": "Abonnement bestätigen",
        "alert_subject_one": "Neu: {title}",
        "alert_subject_many": "{count} neue Beiträge zu Ihren Themen",
        "alert_intro": "zu Ihren Themen ist Neues erschienen:",
        "digest_daily": "Ihre tägliche Übersicht",
        "digest_weekly": "Ihre wöchentliche Übersicht",
        "read_more": "Weiterlesen",
        "review_published_subject": "Ihr Beitrag „{title}“ ist veröffentlicht",
        "review_published_body": "vielen Dank für Ihren Beitrag. Er ist jetzt auf der Plattform zu sehen:",
        "review_rejected_subject": "Ihr Beitrag „{title}“ wurde nicht veröffentlicht",
        "review_rejected_body": "vielen Dank für Ihren Beitrag. Die Redaktion hat ihn nicht veröffentlicht. "
                                "Die Begründung:",
        "review_digest_subject": "{count} Beiträge warten auf Prüfung",
        "review_digest_body": "diese Einreichungen warten auf eine redaktionelle Prüfung:",
        "test_marker": "[TEST] ",
        "footer_why": "Sie erhalten diese Nachricht, weil Sie sie abonniert haben.",
        "footer_manage": "Einstellungen ändern",
        "footer_unsubscribe": "Abbestellen",
        "footer_personal": "Sie erhalten diese Nachricht zu Ihrer Einreichung.",
    },
    "en": {
        "greeting": "Hello,",
        "confirm_subject": "Please confirm your subscription",
        "confirm_intro": "someone, probably you, subscribed this address to news of the Competence Centre for "
                         "Social Innovation Saxony-Anhalt. Please confirm with this link:",
        "confirm_ignore": "If that was not you, ignore this message; you will get nothing else.",
        "confirm_button": "Confirm subscription",
        "alert_subject_one": "New: {title}",
        "alert_subject_many": "{count} new items on your topics",
        "alert_intro": "something new appeared on your topics:",
        "digest_daily": "Your daily summary",
        "digest_weekly": "Your weekly summary",
        "read_more": "Read more",
        "review_published_subject": "Your submission “{title}” is published",
        "review_published_body": "thank you for your submission. It can now be seen on the platform:",
        "review_rejected_subject": "Your submission “{title}” was not published",
        "review_rejected_body": "thank you for your submission. The editors did not publish it. The reason:",
        "review_digest_subject": "{count} submissions wait for review",
        "review_digest_body": "these submissions wait for an editor's review:",
        "test_marker": "[TEST] ",
        "footer_why": "You get this message because you subscribed to it.",
        "footer_manage": "Change settings",
        "footer_unsubscribe": "Unsubscribe",
        "footer_personal": "You get this message about your submission.",
    },
}


def texts(language: str) -> dict:
    return TEXTS.get(language) or TEXTS["de"]
