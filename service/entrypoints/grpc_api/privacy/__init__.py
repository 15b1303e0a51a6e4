"""PrivacyAdminService."""
