//! EC2, read through the signed Query API ([`super::query`], API version 2016-11-15): the
//! subnets, security groups, route tables and VPC endpoints `plan` checks against the priced
//! network (`deploy::network`). Four read calls, all filtered to the deploy inputs' VPC or ids:
//! DescribeSubnets, DescribeSecurityGroups, DescribeRouteTables, DescribeVpcEndpoints (IAM
//! `ec2:Describe*` of the same names).

use roxmltree::{Document, Node};

use super::query::Query;
use crate::deploy::api::ApiError;
use crate::deploy::network::{NetworkSeen, NetworkWant, SubnetSeen};

const VERSION: &str = "2016-11-15";

/// `Filter.1.Name=name`, `Filter.1.Value.k=values[k]`.
fn filter(name: &str, values: &[String]) -> Vec<(String, String)> {
    let mut p = vec![("Filter.1.Name".to_string(), name.to_string())];
    p.extend(
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("Filter.1.Value.{}", i + 1), v.clone())),
    );
    p
}

/// The `<item>`s of `node`'s child `<set>`.
fn items<'a, 'i>(node: Node<'a, 'i>, set: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(move |n| n.has_tag_name(set))
        .flat_map(|s| s.children().filter(|n| n.has_tag_name("item")))
}

/// The text of `node`'s child `<tag>`.
fn text(node: Node<'_, '_>, tag: &str) -> Option<String> {
    node.children()
        .find(|n| n.has_tag_name(tag))
        .and_then(|n| n.text())
        .map(str::to_string)
}

fn parse<'x>(xml: &'x str, action: &str) -> Result<Document<'x>, ApiError> {
    Document::parse(xml).map_err(|e| ApiError::Other(format!("{action}: unreadable answer: {e}")))
}

/// The subnets of a DescribeSubnets answer: (id, VPC, zone).
pub(crate) fn subnets(xml: &str) -> Result<Vec<(String, String, String)>, ApiError> {
    let doc = parse(xml, "DescribeSubnets")?;
    Ok(items(doc.root_element(), "subnetSet")
        .filter_map(|i| {
            Some((
                text(i, "subnetId")?,
                text(i, "vpcId").unwrap_or_default(),
                text(i, "availabilityZone").unwrap_or_default(),
            ))
        })
        .collect())
}

/// The groups of a DescribeSecurityGroups answer: (id, VPC).
pub(crate) fn groups(xml: &str) -> Result<Vec<(String, String)>, ApiError> {
    let doc = parse(xml, "DescribeSecurityGroups")?;
    Ok(items(doc.root_element(), "securityGroupInfo")
        .filter_map(|i| Some((text(i, "groupId")?, text(i, "vpcId").unwrap_or_default())))
        .collect())
}

/// One route table: the subnets associated with it, whether it is the VPC's main table, the
/// target of its `0.0.0.0/0` route and whether it routes a prefix list to a VPC endpoint.
#[derive(Debug, Default)]
pub(crate) struct Table {
    subnets: Vec<String>,
    main: bool,
    default_route: Option<String>,
    endpoint_route: bool,
}

/// The tables of a DescribeRouteTables answer.
pub(crate) fn tables(xml: &str) -> Result<Vec<Table>, ApiError> {
    let doc = parse(xml, "DescribeRouteTables")?;
    let mut out = Vec::new();
    for t in items(doc.root_element(), "routeTableSet") {
        let mut table = Table::default();
        for a in items(t, "associationSet") {
            if text(a, "main").as_deref() == Some("true") {
                table.main = true;
            }
            if let Some(s) = text(a, "subnetId") {
                table.subnets.push(s);
            }
        }
        for r in items(t, "routeSet") {
            let target = [
                "gatewayId",
                "natGatewayId",
                "transitGatewayId",
                "networkInterfaceId",
                "vpcPeeringConnectionId",
                "instanceId",
            ]
            .iter()
            .find_map(|k| text(r, k));
            if text(r, "destinationCidrBlock").as_deref() == Some("0.0.0.0/0") {
                table.default_route = target.clone().map(|t| {
                    if text(r, "state").as_deref() == Some("blackhole") {
                        format!("{t} (blackhole)")
                    } else {
                        t
                    }
                });
            }
            if text(r, "destinationPrefixListId").is_some()
                && target.as_deref().is_some_and(|t| t.starts_with("vpce-"))
            {
                table.endpoint_route = true;
            }
        }
        out.push(table);
    }
    Ok(out)
}

/// The available endpoints of a DescribeVpcEndpoints answer: (service name, type).
pub(crate) fn endpoints(xml: &str) -> Result<Vec<(String, String)>, ApiError> {
    let doc = parse(xml, "DescribeVpcEndpoints")?;
    Ok(items(doc.root_element(), "vpcEndpointSet")
        .filter(|i| text(*i, "state").is_some_and(|s| s.eq_ignore_ascii_case("available")))
        .filter_map(|i| {
            Some((
                text(i, "serviceName")?,
                text(i, "vpcEndpointType").unwrap_or_default(),
            ))
        })
        .collect())
}

/// Reads what `want` names.
pub fn observe(q: &Query, want: &NetworkWant) -> Result<NetworkSeen, ApiError> {
    let call = |action: &str, p: Vec<(String, String)>| q.call("ec2", VERSION, action, &p);
    let vpc = std::slice::from_ref(&want.vpc_id);
    let found = subnets(&call(
        "DescribeSubnets",
        filter("subnet-id", &want.subnets),
    )?)?;
    let security_groups = groups(&call(
        "DescribeSecurityGroups",
        filter("group-id", &want.security_groups),
    )?)?;
    let tables = tables(&call("DescribeRouteTables", filter("vpc-id", vpc))?)?;
    let endpoints = endpoints(&call("DescribeVpcEndpoints", filter("vpc-id", vpc))?)?;
    let subnets = found
        .into_iter()
        .map(|(id, vpc, az)| {
            // a subnet without a table of its own uses its VPC's main table
            let table = tables
                .iter()
                .find(|t| t.subnets.contains(&id))
                .or_else(|| tables.iter().find(|t| t.main));
            SubnetSeen {
                default_route: table.and_then(|t| t.default_route.clone()),
                endpoint_route: table.is_some_and(|t| t.endpoint_route),
                id,
                vpc,
                az,
            }
        })
        .collect();
    Ok(NetworkSeen {
        subnets,
        security_groups,
        endpoints,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of EC2's DescribeRouteTables answer (EC2 API Reference, DescribeRouteTables,
    /// "Examples"): a main table to an internet gateway, and a subnet's own table to a NAT
    /// gateway with the S3 gateway endpoint's prefix-list route.
    const TABLES: &str = r#"<DescribeRouteTablesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>6f570b0b-9c18-4b07-bdec-73740dcf861a</requestId>
  <routeTableSet>
    <item>
      <routeTableId>rtb-main</routeTableId>
      <vpcId>vpc-1</vpcId>
      <routeSet>
        <item><destinationCidrBlock>10.0.0.0/16</destinationCidrBlock><gatewayId>local</gatewayId><state>active</state></item>
        <item><destinationCidrBlock>0.0.0.0/0</destinationCidrBlock><gatewayId>igw-1</gatewayId><state>active</state></item>
      </routeSet>
      <associationSet>
        <item><routeTableAssociationId>rtbassoc-1</routeTableAssociationId><routeTableId>rtb-main</routeTableId><main>true</main></item>
      </associationSet>
    </item>
    <item>
      <routeTableId>rtb-private</routeTableId>
      <vpcId>vpc-1</vpcId>
      <routeSet>
        <item><destinationCidrBlock>0.0.0.0/0</destinationCidrBlock><natGatewayId>nat-1</natGatewayId><state>active</state></item>
        <item><destinationPrefixListId>pl-6ea54007</destinationPrefixListId><gatewayId>vpce-1</gatewayId><state>active</state></item>
      </routeSet>
      <associationSet>
        <item><routeTableAssociationId>rtbassoc-2</routeTableAssociationId><routeTableId>rtb-private</routeTableId><subnetId>subnet-b</subnetId><main>false</main></item>
      </associationSet>
    </item>
  </routeTableSet>
</DescribeRouteTablesResponse>"#;

    #[test]
    fn a_subnets_own_table_else_the_main_one_gives_its_routes() {
        let t = tables(TABLES).unwrap();
        assert_eq!(t.len(), 2);
        assert!(t[0].main && t[0].subnets.is_empty());
        assert_eq!(t[0].default_route.as_deref(), Some("igw-1"));
        assert!(!t[0].endpoint_route);
        assert_eq!(t[1].subnets, ["subnet-b"]);
        assert_eq!(t[1].default_route.as_deref(), Some("nat-1"));
        assert!(t[1].endpoint_route);
    }
}
