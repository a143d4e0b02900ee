
    
    



select stream
from "awsdatacatalog"."customer360_staging"."stg_landing__quarantined_records"
where stream is null


