//! Where a live system is: the built-in sandbox or a real endpoint. The word `sandbox` in a
//! target is tested here and nowhere else.

/// The target value that selects the built-in sandbox, for every system.
pub const SANDBOX: &str = "sandbox";

/// A system's endpoint as a target names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint<'a> {
    /// The built-in sandbox, persisted under the sandbox directory.
    Sandbox,
    /// A real endpoint: a URL, or Kafka bootstrap servers.
    Live(&'a str),
}

impl<'a> Endpoint<'a> {
    /// The endpoint a target value names (surrounding spaces do not matter).
    pub fn of(value: &'a str) -> Self {
        if value.trim() == SANDBOX {
            Endpoint::Sandbox
        } else {
            Endpoint::Live(value)
        }
    }

    /// The endpoint of an optional target: no target is the sandbox.
    pub fn of_optional(value: Option<&'a str>) -> Self {
        value.map_or(Endpoint::Sandbox, Endpoint::of)
    }

    /// Whether it is the built-in sandbox.
    pub fn is_sandbox(self) -> bool {
        self == Endpoint::Sandbox
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_word_sandbox_selects_the_sandbox() {
        assert!(Endpoint::of("sandbox").is_sandbox());
        assert!(Endpoint::of(" sandbox ").is_sandbox());
        assert!(Endpoint::of_optional(None).is_sandbox());
        assert_eq!(
            Endpoint::of("https://sandbox.kusto.windows.net"),
            Endpoint::Live("https://sandbox.kusto.windows.net")
        );
        assert!(
            !Endpoint::of("Sandbox").is_sandbox(),
            "targets are case-sensitive"
        );
    }
}
