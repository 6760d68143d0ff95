//! The ratings files as a table: a fixed list of files, spread over as many
//! partitions as the session asks for (whole files per partition), or all in
//! one when its scans sum per id (one file of sums per scan).
//!
//! A table whose scans sum per id already evaluates the validity rule on
//! every row. When a query's WHERE holds that rule (fact_rating's does), the
//! table takes the rule over from DataFusion: the scan keeps only the rows that
//! pass it, and the plan has no filter of its own that would evaluate the rule
//! a second time.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::common::{DFSchema, DFSchemaRef};
use datafusion::datasource::listing::{ListingTableUrl, PartitionedFile};
use datafusion::datasource::physical_plan::FileGroup;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::utils::split_conjunction_owned;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use super::per_id::PerIdSums;
use super::scan::{Keep, ratings_scan};

/// The scan's file at `location`, a store path as it is (already
/// percent-encoded: turned into a string and back through `Path::from`, a
/// '%' in the lake's directory would be encoded twice and not found).
pub fn scan_file(location: object_store::path::Path, bytes: u64) -> PartitionedFile {
    PartitionedFile::from(object_store::ObjectMeta {
        location,
        last_modified: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
        size: bytes,
        e_tag: None,
        version: None,
    })
}

/// One ratings file: its full URL (`file:///…`, `s3://bucket/…`) and size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingsFile {
    pub url: String,
    pub bytes: u64,
}

#[derive(Debug, Clone)]
pub struct RatingsTable {
    files: Vec<RatingsFile>,
    schema: SchemaRef,
    per_id: Option<PerIdSums>,
}

impl RatingsTable {
    pub fn new(files: Vec<RatingsFile>) -> Self {
        Self {
            files,
            schema: Arc::new(super::ratings_schema()),
            per_id: None,
        }
    }

    /// This table, its scans also writing the per-id sums of its files (and
    /// reading them all in one partition).
    pub fn with_per_id_sums(self, per_id: Option<PerIdSums>) -> Self {
        Self { per_id, ..self }
    }

    pub fn files(&self) -> &[RatingsFile] {
        &self.files
    }

    pub fn per_id(&self) -> Option<&PerIdSums> {
        self.per_id.as_ref()
    }

    /// Whether `filters` hold every conjunct of the validity rule its scans
    /// evaluate (`None` when they evaluate none, or a conjunct is missing),
    /// and which of the filters are the rule's (those the scan applies).
    fn takes_over(&self, filters: &[&Expr]) -> Result<Option<Vec<bool>>> {
        let Some(sums) = &self.per_id else {
            return Ok(None);
        };
        let schema = Arc::new(DFSchema::try_from(super::ratings_schema())?);
        let rule = SessionContext::new().parse_sql_expr(&sums.rule.sql(), &schema)?;
        let rule = conjuncts(rule, &schema)?;
        let given = filters
            .iter()
            .map(|f| conjuncts((*f).clone(), &schema))
            .collect::<Result<Vec<_>>>()?;
        let all_given = rule.iter().all(|c| given.iter().flatten().any(|g| g == c));
        Ok(all_given.then(|| {
            given
                .iter()
                .map(|parts| parts.iter().all(|p| rule.contains(p)))
                .collect()
        }))
    }

    /// File `i` goes to partition `i mod n`, so parts of a similar size
    /// spread evenly; with per-id sums, every file goes to one partition,
    /// whose scan writes the sums of them all.
    fn partitions(&self, wanted: usize) -> Vec<Vec<RatingsFile>> {
        let wanted = if self.per_id.is_some() { 1 } else { wanted };
        let n = wanted.clamp(1, self.files.len().max(1));
        let mut groups = vec![Vec::new(); n];
        for (i, file) in self.files.iter().enumerate() {
            groups[i % n].push(file.clone());
        }
        groups
    }
}

#[async_trait]
impl TableProvider for RatingsTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// The filters that are conjuncts of the validity rule are the scan's to
    /// apply, exactly, when they are all there: it then keeps only the rows
    /// the rule passes. Anything else stays a filter above the scan.
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        let taken = self
            .takes_over(filters)?
            .unwrap_or_else(|| vec![false; filters.len()]);
        Ok(taken
            .into_iter()
            .map(|exact| {
                if exact {
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // The filters given here are those supports_filters_pushdown took.
        let keep = match self.takes_over(&filters.iter().collect::<Vec<_>>())? {
            Some(_) => Keep::Valid,
            None => Keep::All,
        };
        let Some(first) = self.files.first() else {
            let empty = datafusion::physical_plan::empty::EmptyExec::new(self.schema());
            return project(Arc::new(empty), projection);
        };
        let store = ListingTableUrl::parse(&first.url)?.object_store();
        let groups = self
            .partitions(state.config().target_partitions())
            .into_iter()
            .map(|files| {
                let files = files
                    .iter()
                    .map(|f| {
                        let url = ListingTableUrl::parse(&f.url)?;
                        Ok(scan_file(url.prefix().clone(), f.bytes))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(FileGroup::new(files))
            })
            .collect::<Result<Vec<_>>>()?;
        project(
            ratings_scan(store, groups, None, self.per_id.clone(), keep),
            projection,
        )
    }
}

/// The conjuncts of the predicate `expr` as the optimizer hands filters to a
/// scan (columns unqualified, types coerced, constants folded), so that the
/// rule's text and a query's WHERE compare equal when they say the same.
fn conjuncts(expr: Expr, schema: &DFSchemaRef) -> Result<Vec<Expr>> {
    let expr = expr
        .transform_up(|e| {
            Ok(match e {
                Expr::Column(c) if c.relation.is_some() => Transformed::yes(Expr::Column(
                    datafusion::common::Column::new_unqualified(c.name),
                )),
                other => Transformed::no(other),
            })
        })
        .data()?;
    let simplifier = ExprSimplifier::new(
        SimplifyContext::builder()
            .with_schema(Arc::clone(schema))
            .build(),
    );
    let expr = simplifier.simplify(simplifier.coerce(expr, schema)?)?;
    Ok(split_conjunction_owned(expr))
}

/// The scan parses all four columns; a projection picks from them above it.
fn project(
    plan: Arc<dyn ExecutionPlan>,
    projection: Option<&Vec<usize>>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let Some(indices) = projection else {
        return Ok(plan);
    };
    let schema = plan.schema();
    let exprs = indices
        .iter()
        .map(|&i| {
            let field = schema.fields().get(i).ok_or_else(|| {
                DataFusionError::Plan(format!("ratings have 4 columns, not {}", i + 1))
            })?;
            Ok((
                Arc::new(Column::new(field.name(), i))
                    as Arc<dyn datafusion::physical_expr::PhysicalExpr>,
                field.name().clone(),
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(ProjectionExec::try_new(exprs, plan)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::valid_rating::TEST_RULE;

    #[test]
    fn files_spread_round_robin_and_never_into_empty_partitions() {
        let file = |i: u64| RatingsFile {
            url: format!("file:///r/{i}.csv"),
            bytes: i,
        };
        let table = RatingsTable::new((0..5).map(file).collect());
        let two = table.partitions(2);
        assert_eq!(two[0], [file(0), file(2), file(4)]);
        assert_eq!(two[1], [file(1), file(3)]);
        assert_eq!(table.partitions(16).len(), 5);
        assert_eq!(
            RatingsTable::new(vec![]).partitions(4),
            [Vec::<RatingsFile>::new()]
        );
    }

    /// A file with valid rows and every kind of invalid one.
    const LINES: &str = "userId,movieId,rating,timestamp\n\
         1,7,4.0,1000000000\n2,7,3.5,1000000000\n3,7,3.3,1000000000\n\
         1,9,5.0,100\n,9,5.0,1000000000\n1,x,2.0,1000000000\n\
         1,9,0.0,1000000000\n1,9,5.5,1000000000\n4,12,4.5,1200000000\n";

    /// `sql` over `t` (the file, its scans summing per id by TEST_RULE) and over
    /// `plain` (the same file, no sums): its plan over `t` as text, and the
    /// rows of both, sorted.
    async fn run_both(sql: &str) -> (String, Vec<String>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part-0.csv");
        std::fs::write(&path, LINES).unwrap();
        let file = RatingsFile {
            url: format!("file://{}", path.display()),
            bytes: LINES.len() as u64,
        };
        let sums = ListingTableUrl::parse(format!("file://{}/sums.parquet", dir.path().display()))
            .unwrap();
        let per_id = PerIdSums {
            out: sums.prefix().to_string(),
            rule: TEST_RULE,
            user_masks: None,
        };
        let ctx = SessionContext::new();
        let tapped = RatingsTable::new(vec![file.clone()]).with_per_id_sums(Some(per_id));
        ctx.register_table("t", Arc::new(tapped)).unwrap();
        ctx.register_table("plain", Arc::new(RatingsTable::new(vec![file])))
            .unwrap();
        let rows = |table: &'static str| {
            let ctx = ctx.clone();
            let sql = sql.replace("{t}", table);
            async move {
                let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
                let text = arrow::util::pretty::pretty_format_batches(&batches)
                    .unwrap()
                    .to_string();
                let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
                lines.sort();
                lines
            }
        };
        let plan = ctx
            .sql(&sql.replace("{t}", "t"))
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        let plan = datafusion::physical_plan::displayable(plan.as_ref())
            .indent(true)
            .to_string();
        (plan, rows("t").await, rows("plain").await)
    }

    #[tokio::test]
    async fn the_rule_as_a_where_is_applied_by_the_scan_and_not_again() {
        let (plan, got, want) =
            run_both(&format!("SELECT * FROM {{t}} WHERE {}", TEST_RULE.sql())).await;
        assert!(!plan.contains("FilterExec"), "{plan}");
        assert_eq!(got, want);
        // Three valid rows of the nine: the rule was applied, not dropped.
        let rows = got
            .iter()
            .filter(|l| l.starts_with("| ") && !l.contains("user_id"));
        assert_eq!(rows.count(), 3, "{got:?}");
    }

    #[tokio::test]
    async fn the_rule_and_more_leaves_the_rest_to_a_filter() {
        let (plan, got, want) = run_both(&format!(
            "SELECT user_id FROM {{t}} WHERE {} AND user_id > 1",
            TEST_RULE.sql()
        ))
        .await;
        assert!(plan.contains("FilterExec: user_id@0 > 1"), "{plan}");
        assert!(!plan.contains("round"), "{plan}");
        assert_eq!(got, want);
        assert!(got.iter().any(|l| l.contains("| 4 ")), "{got:?}");
    }

    #[tokio::test]
    async fn part_of_the_rule_is_not_taken_over() {
        let (plan, got, want) =
            run_both("SELECT * FROM {t} WHERE rating BETWEEN 0.5 AND 5.0").await;
        assert!(plan.contains("FilterExec"), "{plan}");
        assert_eq!(got, want);
    }
}
