//! The ratings files as a table: a fixed list of files, spread over as many
//! partitions as the session asks for (whole files per partition).

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::datasource::listing::{ListingTableUrl, PartitionedFile};
use datafusion::datasource::physical_plan::FileGroup;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::projection::ProjectionExec;
use serde::{Deserialize, Serialize};

use super::per_id::PerIdSums;
use super::scan::ratings_scan;

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

    /// This table, its scans also writing each file's per-id sums.
    pub fn with_per_id_sums(self, per_id: Option<PerIdSums>) -> Self {
        Self { per_id, ..self }
    }

    pub fn files(&self) -> &[RatingsFile] {
        &self.files
    }

    pub fn per_id(&self) -> Option<&PerIdSums> {
        self.per_id.as_ref()
    }

    /// File `i` goes to partition `i mod n`, so parts of a similar size
    /// spread evenly.
    fn partitions(&self, wanted: usize) -> Vec<Vec<RatingsFile>> {
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

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
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
            ratings_scan(store, groups, None, self.per_id.clone()),
            projection,
        )
    }
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
}
