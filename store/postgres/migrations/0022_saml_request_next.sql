-- Where a browser lands after an SP-initiated sign-in: the console page it
-- asked for (/saml/{tenant}/login?next=/console/{tenant}/…), kept with the
-- request in flight so that the IdP's RelayState is never a redirect target.
alter table saml_requests add column next text not null default '';
