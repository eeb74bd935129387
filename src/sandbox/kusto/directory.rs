//! The sandbox's built-in directory. Real Kusto resolves the principals it is given: users and
//! groups are stored and listed by object id (`aaduser=<objectId>;<tenantId>`), with the UPN
//! only in the display name (`Jack Kusto (upn: jack@contoso.com)`); apps keep their app id;
//! tenant domains become tenant ids, and a principal without a tenant gets the cluster's. The
//! sandbox does the same with stable, derived ids, so clients meet the same shapes.

use sha2::{Digest, Sha256};

use super::validate::PrincipalName;
use crate::model::is_guid;

/// The tenant of principals given without one (the cluster's home tenant).
pub const HOME_TENANT: &str = "0ca5a1d0-5a1d-4b0c-8a5e-000000000001";

/// A principal as the directory resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The FQN the service stores and lists.
    pub fqn: String,
    /// The object id of a user or group, the app id of an app.
    pub object: String,
    /// `PrincipalDisplayName`, when the name given tells it (not for a bare object id: the
    /// sandbox remembers names it has seen, see [`super::SandboxState::directory`]).
    pub display: Option<String>,
}

/// A stable GUID for a name of a kind: the same lower-cased name always gets the same id.
fn derived_guid(kind: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("{kind}:{}", name.to_ascii_lowercase()).as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Resolves a principal as the service would.
pub fn resolve(p: &PrincipalName) -> Resolved {
    let (id, tenant) = match p.identity.split_once(';') {
        Some((id, tenant)) => (id.trim(), Some(tenant.trim())),
        None => (p.identity.trim(), None),
    };
    if p.kind == "msauser" {
        return Resolved {
            fqn: p.fqn(),
            object: p.identity.clone(),
            display: Some(p.identity.clone()),
        };
    }
    let tenant = match tenant {
        Some(t) if is_guid(t) => t.to_ascii_lowercase(),
        Some(t) if !t.is_empty() => derived_guid("tenant", t),
        _ => HOME_TENANT.to_string(),
    };
    let lower = id.to_ascii_lowercase();
    let (object, display) = match p.kind {
        "aadapp" => (lower.clone(), Some(format!("app (app id: {lower})"))),
        _ if is_guid(id) => (lower.clone(), None),
        "aaduser" => {
            let name = lower.split('@').next().unwrap_or(&lower).to_string();
            (
                derived_guid(p.kind, id),
                Some(format!("{name} (upn: {lower})")),
            )
        }
        _ => (derived_guid(p.kind, id), Some(id.to_string())),
    };
    Resolved {
        fqn: format!("{}={object};{tenant}", p.kind),
        object,
        display,
    }
}

/// `PrincipalObjectId` of a stored FQN: the object id of users and groups, a derived service
/// principal id for apps (the app id is not the object id).
pub fn object_id(p: &PrincipalName) -> String {
    let id = p.object().to_ascii_lowercase();
    match p.kind {
        "aadapp" => derived_guid("serviceprincipal", &id),
        _ => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fqn(text: &str) -> String {
        resolve(&PrincipalName::parse(text).expect("valid")).fqn
    }

    #[test]
    fn users_and_groups_are_stored_by_object_id_and_the_same_name_is_the_same_principal() {
        let jack = resolve(&PrincipalName::parse("aaduser=jack@contoso.com").expect("valid"));
        let oid = derived_guid("aaduser", "jack@contoso.com");
        assert_eq!(jack.fqn, format!("aaduser={oid};{HOME_TENANT}"));
        assert_eq!(
            jack.display.as_deref(),
            Some("jack (upn: jack@contoso.com)")
        );
        assert_eq!(fqn("AADUser=Jack@Contoso.com"), jack.fqn);
        assert_eq!(fqn(&format!("aaduser={oid}")), jack.fqn, "by object id");
        assert_eq!(
            fqn("aaduser=jack@contoso.com;contoso.com"),
            format!("aaduser={oid};{}", derived_guid("tenant", "contoso.com"))
        );
        assert!(fqn("aadgroup=ops@contoso.com").starts_with("aadgroup="));
        assert!(is_guid(&fqn("aadgroup=ops@contoso.com")[9..45]));
        assert_eq!(
            fqn("aadapp=ABC;72F988BF-86F1-41AF-91AB-2D7CD011DB47"),
            "aadapp=abc;72f988bf-86f1-41af-91ab-2d7cd011db47"
        );
        assert_eq!(fqn("aadapp=abc"), format!("aadapp=abc;{HOME_TENANT}"));
    }
}
