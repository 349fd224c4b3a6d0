"""Operations: ordered steps over hosts (deploy, rollback, env push, lock, details...)."""
