use std::fmt;

/// What kind of AAD identity a principal is; decides the FQN prefix Kusto expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrincipalKind {
    /// An AAD application (service principal): `aadapp=`.
    App,
    /// An AAD user: `aaduser=`.
    User,
    /// An AAD group: `aadgroup=`.
    Group,
}

impl PrincipalKind {
    fn prefix(self) -> &'static str {
        match self {
            PrincipalKind::App => "aadapp",
            PrincipalKind::User => "aaduser",
            PrincipalKind::Group => "aadgroup",
        }
    }
}

/// A principal as Kusto identifies it: kind, object/app id or UPN, and optional tenant.
///
/// Ids, UPNs and tenants are compared case-insensitively (AAD treats them so), so they are
/// lower-cased here once and every comparison is then plain equality.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PrincipalRef {
    /// The identity kind.
    pub kind: PrincipalKind,
    /// App id, user UPN or object id, or group name or object id, lower-cased.
    pub id: String,
    /// Tenant id or domain, lower-cased, when given.
    pub tenant: Option<String>,
}

/// Whether an id or tenant is a GUID (8-4-4-4-12 hex digits: an object, app or tenant id)
/// rather than a name (a UPN, a group name, a domain).
pub fn is_guid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

impl PrincipalRef {
    /// Builds a principal, normalising case.
    pub fn new(kind: PrincipalKind, id: &str, tenant: Option<&str>) -> PrincipalRef {
        PrincipalRef {
            kind,
            id: id.trim().to_ascii_lowercase(),
            tenant: tenant
                .map(|t| t.trim().to_ascii_lowercase())
                .filter(|t| !t.is_empty()),
        }
    }

    /// Parses Kusto's FQN form, e.g. `aadapp=0000-...;72f988bf-...` (the prefix is case-insensitive).
    pub fn parse_fqn(fqn: &str) -> Option<PrincipalRef> {
        let (prefix, rest) = fqn.trim().split_once('=')?;
        let kind = [
            PrincipalKind::App,
            PrincipalKind::User,
            PrincipalKind::Group,
        ]
        .into_iter()
        .find(|k| k.prefix().eq_ignore_ascii_case(prefix.trim()))?;
        let (id, tenant) = match rest.split_once(';') {
            Some((id, tenant)) => (id, Some(tenant)),
            None => (rest, None),
        };
        if id.trim().is_empty() {
            return None;
        }
        Some(PrincipalRef::new(kind, id, tenant))
    }

    /// The FQN Kusto commands take.
    pub fn fqn(&self) -> String {
        match &self.tenant {
            Some(t) => format!("{}={};{}", self.kind.prefix(), self.id, t),
            None => format!("{}={}", self.kind.prefix(), self.id),
        }
    }
}

impl fmt::Display for PrincipalRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fqn())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fqn_round_trip_and_case() {
        let p = PrincipalRef::parse_fqn("AADApp=ABC-1;Contoso.com").unwrap();
        assert_eq!(p.kind, PrincipalKind::App);
        assert_eq!(p.fqn(), "aadapp=abc-1;contoso.com");
        assert_eq!(
            PrincipalRef::parse_fqn("aaduser=Jane@Contoso.com")
                .unwrap()
                .fqn(),
            "aaduser=jane@contoso.com"
        );
        assert_eq!(PrincipalRef::parse_fqn("nope=1"), None);
        assert_eq!(PrincipalRef::parse_fqn("aadgroup="), None);
    }
}
