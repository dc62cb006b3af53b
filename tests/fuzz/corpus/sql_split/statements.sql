-- a comment
CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(40) DEFAULT 'x;y', `odd``col` INT);
INSERT INTO t VALUES (1, 'it''s; "quoted"'), (2, "dq \" ; \\"), (3, 'ü;データ');
/* block ; comment */ UPDATE t SET name = 'a' # trailing; comment
WHERE id = 1;
/*!40101 SET NAMES utf8mb4 */;
/*M!100100 SET @x = 1 */;
SELECT 1;SELECT 2 ;  ;
