//! The roles of operators: three at the pharmacy, one at the association.

use std::fmt;

/// What an operator is allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The pharmacy's owner: issues and manages the pharmacy's operators.
    Owner,
    /// A pharmacist: issues.
    Pharmacist,
    /// A pharmacy technician (PTA): issues.
    Technician,
    /// An administrator of the association: manages pharmacies and sees all audit data, but
    /// does not issue certificates.
    Administrator,
}

impl Role {
    /// Every role.
    pub const ALL: [Self; 4] = [
        Self::Owner,
        Self::Pharmacist,
        Self::Technician,
        Self::Administrator,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Pharmacist => "pharmacist",
            Self::Technician => "technician",
            Self::Administrator => "administrator",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Result<Self, UnknownRole> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| UnknownRole(text.to_owned()))
    }

    /// Whether the role issues certificates (the pharmacy's staff).
    pub fn can_issue(self) -> bool {
        !matches!(self, Self::Administrator)
    }

    /// Whether the role manages operator accounts (the owner for the own pharmacy, the
    /// administrator for every pharmacy).
    pub fn can_manage_operators(self) -> bool {
        matches!(self, Self::Owner | Self::Administrator)
    }

    /// Whether the role belongs to the association rather than a pharmacy.
    pub fn is_administrator(self) -> bool {
        matches!(self, Self::Administrator)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}; expected owner, pharmacist, technician or administrator")]
pub struct UnknownRole(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert_eq!(Role::parse("Owner"), Err(UnknownRole("Owner".into())));
    }

    #[test]
    fn only_pharmacy_staff_issue_and_only_owners_and_admins_manage() {
        let issuing: Vec<Role> = Role::ALL.into_iter().filter(|r| r.can_issue()).collect();
        assert_eq!(issuing, [Role::Owner, Role::Pharmacist, Role::Technician]);
        let managing: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.can_manage_operators())
            .collect();
        assert_eq!(managing, [Role::Owner, Role::Administrator]);
    }
}
