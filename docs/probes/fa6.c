#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
static long rss(void *a){char b[1<<16];FILE*f=fopen("/proc/self/smaps","r");size_t n=fread(b,1,sizeof b-1,f);b[n]=0;fclose(f);
 char k[32];snprintf(k,32,"%lx-",(unsigned long)a);char*p=strstr(b,k);if(!p)return -1;return strtol(strstr(p,"Rss:")+4,0,10);}
int main(int argc,char**argv){
 const char*path=argv[1]; long len=atol(argv[2]); int small=atoi(argv[3]); long off=atol(argv[4]); long touch=atol(argv[5]); int table=atoi(argv[6]);
 int fd=open(path,O_RDWR|O_CREAT|O_TRUNC,0600);
 char buf[65536]; for(int i=0;i<65536;i++)buf[i]=i*131;
 if(small) for(int i=0;i<16;i++) pwrite(fd,buf,4096,i*4096); else write(fd,buf,65536);
 close(fd);
 if(table){ char*x=mmap((void*)0x10100000,4096,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED,-1,0); x[0]=1; }
 fd=open(path,O_RDONLY|O_CLOEXEC);
 char*a=mmap((void*)0x10000000,len,PROT_READ,MAP_PRIVATE|MAP_FIXED,fd,off);
 volatile char c=a[touch]; (void)c;
 printf("len=%ld small=%d off=%ld touch=%ld table=%d rss=%ld\n",len,small,off,touch,table,rss(a));
 return 0;}
