DROP TABLE IF EXISTS lp_operator_tokens;
DROP TABLE IF EXISTS lp_authz_policies;
