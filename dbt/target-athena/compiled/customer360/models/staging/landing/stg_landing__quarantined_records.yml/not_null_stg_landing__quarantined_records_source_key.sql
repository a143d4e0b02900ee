
    
    



select source_key
from "awsdatacatalog"."customer360_staging"."stg_landing__quarantined_records"
where source_key is null


