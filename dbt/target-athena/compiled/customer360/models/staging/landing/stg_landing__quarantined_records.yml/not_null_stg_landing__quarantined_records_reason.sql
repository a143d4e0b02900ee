
    
    



select reason
from "awsdatacatalog"."customer360_staging"."stg_landing__quarantined_records"
where reason is null


