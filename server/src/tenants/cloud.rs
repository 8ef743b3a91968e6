//! A tenant's cloud configuration (where its execution plane runs) and its validation.
//!
//! Formats are checked here, in plain Rust, so the messages can say exactly what is wrong; the
//! database keeps only coarse checks as a backstop.

use serde::{Deserialize, Serialize};

use crate::domain::FieldError;

/// Where a tenant's execution plane lives in AWS. Every field is optional until the tenant
/// connects its account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloudConfig {
    /// The 12-digit AWS account id.
    #[serde(default)]
    #[schema(pattern = "^[0-9]{12}$")]
    pub aws_account_id: Option<String>,
    /// An AWS region code such as `eu-central-1` or `us-gov-west-1`.
    #[serde(default)]
    #[schema(pattern = "^[a-z]{2}(-[a-z]{1,12}){1,2}-[0-9]{1,2}$")]
    pub aws_region: Option<String>,
    /// VPC ids, `vpc-` followed by 8 or 17 lowercase hex digits.
    #[serde(default)]
    #[schema(max_items = 50, value_type = Vec<VpcId>)]
    pub vpc_ids: Vec<String>,
    /// IAM role ARNs the control plane may assume, `arn:aws:iam::<account>:role/<path/>name`.
    #[serde(default)]
    #[schema(max_items = 50, value_type = Vec<RoleArn>)]
    pub iam_role_arns: Vec<String>,
}

/// A VPC id, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[schema(pattern = "^vpc-([0-9a-f]{8}|[0-9a-f]{17})$")]
#[expect(
    dead_code,
    reason = "only describes the strings in CloudConfig::vpc_ids"
)]
pub struct VpcId(String);

/// An IAM role ARN, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[schema(
    pattern = "^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:role/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}$"
)]
#[expect(
    dead_code,
    reason = "only describes the strings in CloudConfig::iam_role_arns"
)]
pub struct RoleArn(String);

/// Most VPCs or roles one tenant may list; more is a mistake, not a configuration.
const MAX_ENTRIES: usize = 50;

impl CloudConfig {
    /// Checks every field and returns the first problem found.
    pub fn validate(&self) -> Result<(), FieldError> {
        if let Some(account) = &self.aws_account_id {
            validate_account_id(account).map_err(|m| FieldError::new("aws_account_id", m))?;
        }
        if let Some(region) = &self.aws_region {
            validate_region(region).map_err(|m| FieldError::new("aws_region", m))?;
        }
        if self.vpc_ids.len() > MAX_ENTRIES {
            return Err(FieldError::new(
                "vpc_ids",
                format!("at most {MAX_ENTRIES} VPC ids are allowed"),
            ));
        }
        for (index, vpc) in self.vpc_ids.iter().enumerate() {
            validate_vpc_id(vpc).map_err(|m| FieldError::new(format!("vpc_ids[{index}]"), m))?;
        }
        if self.iam_role_arns.len() > MAX_ENTRIES {
            return Err(FieldError::new(
                "iam_role_arns",
                format!("at most {MAX_ENTRIES} role ARNs are allowed"),
            ));
        }
        for (index, arn) in self.iam_role_arns.iter().enumerate() {
            validate_role_arn(arn)
                .map_err(|m| FieldError::new(format!("iam_role_arns[{index}]"), m))?;
        }
        Ok(())
    }
}

fn validate_account_id(account: &str) -> Result<(), String> {
    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!(
            "{account:?} is not an AWS account id (exactly 12 digits)"
        ))
    }
}

/// Region codes are `<area>[-gov|-iso…]-<direction>-<number>`: `us-east-1`, `ap-southeast-2`,
/// `us-gov-west-1`, `cn-north-1`, `il-central-1`.
fn validate_region(region: &str) -> Result<(), String> {
    let error =
        || format!("{region:?} is not an AWS region code (like eu-central-1 or us-gov-west-1)");
    let parts: Vec<&str> = region.split('-').collect();
    if !(3..=4).contains(&parts.len()) {
        return Err(error());
    }
    let area = parts[0];
    let number = parts[parts.len() - 1];
    let words = &parts[1..parts.len() - 1];
    let lower =
        |s: &str| !s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_lowercase());
    if area.len() == 2
        && lower(area)
        && words.iter().all(|w| lower(w))
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(error())
    }
}

fn validate_vpc_id(vpc: &str) -> Result<(), String> {
    let hex = vpc.strip_prefix("vpc-").unwrap_or("");
    if (hex.len() == 8 || hex.len() == 17)
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(format!(
            "{vpc:?} is not a VPC id (vpc- followed by 8 or 17 lowercase hex digits)"
        ))
    }
}

/// `arn:<partition>:iam::<12-digit account>:role/<optional/path/>name`, where names and path
/// segments use IAM's characters (`A-Za-z0-9+=,.@_-`) and the name is at most 64 characters.
fn validate_role_arn(arn: &str) -> Result<(), String> {
    let error = |why: &str| format!("{arn:?} is not an IAM role ARN: {why}");
    let mut fields = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(error("expected arn:aws:iam::<account id>:role/<name>"));
    };
    if !matches!(partition, "aws" | "aws-cn" | "aws-us-gov") {
        return Err(error("the partition must be aws, aws-cn or aws-us-gov"));
    }
    validate_account_id(account).map_err(|_| error("the account must be 12 digits"))?;
    let Some(path_and_name) = resource.strip_prefix("role/") else {
        return Err(error("the resource must start with role/"));
    };
    let segments: Vec<&str> = path_and_name.split('/').collect();
    let name = segments[segments.len() - 1];
    let iam_chars = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    };
    if !segments.iter().all(|s| iam_chars(s)) {
        return Err(error(
            "role names and paths use letters, digits and +=,.@_- only",
        ));
    }
    if name.len() > 64 {
        return Err(error("the role name is longer than 64 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CloudConfig {
        CloudConfig {
            aws_account_id: Some("123456789012".into()),
            aws_region: Some("eu-central-1".into()),
            vpc_ids: vec!["vpc-0a1b2c3d".into(), "vpc-0123456789abcdef0".into()],
            iam_role_arns: vec![
                "arn:aws:iam::123456789012:role/astraflow-plane".into(),
                "arn:aws-us-gov:iam::123456789012:role/team/ops/Runner_1".into(),
            ],
        }
    }

    #[test]
    fn a_complete_valid_config_passes() {
        assert_eq!(config().validate(), Ok(()));
        assert_eq!(CloudConfig::default().validate(), Ok(()));
    }

    #[test]
    fn account_ids_are_exactly_twelve_digits() {
        for bad in ["12345678901", "1234567890123", "12345678901a", ""] {
            let mut c = config();
            c.aws_account_id = Some(bad.into());
            assert_eq!(c.validate().unwrap_err().field, "aws_account_id", "{bad}");
        }
    }

    #[test]
    fn regions_follow_aws_codes() {
        for good in [
            "us-east-1",
            "ap-southeast-2",
            "us-gov-west-1",
            "cn-north-1",
            "il-central-1",
        ] {
            assert!(validate_region(good).is_ok(), "{good}");
        }
        for bad in [
            "us-east",
            "US-EAST-1",
            "useast1",
            "u-east-1",
            "us-east-123",
            "us--1",
            "",
        ] {
            assert!(validate_region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn vpc_ids_have_the_vpc_prefix_and_hex() {
        for bad in [
            "vpc-0A1B2C3D",
            "vpc-0a1b2c3",
            "subnet-0a1b2c3d",
            "vpc-0a1b2c3g",
            "vpc-",
        ] {
            let mut c = config();
            c.vpc_ids = vec![bad.into()];
            assert_eq!(c.validate().unwrap_err().field, "vpc_ids[0]", "{bad}");
        }
    }

    #[test]
    fn role_arns_name_an_iam_role() {
        for bad in [
            "arn:aws:iam::12345678901:role/x",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::123456789012:user/alice",
            "arn:azure:iam::123456789012:role/x",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/has space",
            "role/x",
        ] {
            let mut c = config();
            c.iam_role_arns = vec![bad.into()];
            assert_eq!(c.validate().unwrap_err().field, "iam_role_arns[0]", "{bad}");
        }
        let long = format!("arn:aws:iam::123456789012:role/{}", "n".repeat(65));
        assert!(validate_role_arn(&long).is_err());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let parsed: Result<CloudConfig, _> =
            serde_json::from_str(r#"{"aws_account_id":"123456789012","bucket":"x"}"#);
        assert!(parsed.is_err());
    }
}
